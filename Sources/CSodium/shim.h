#ifndef ALZA_CSODIUM_SHIM_H
#define ALZA_CSODIUM_SHIM_H
#include <sodium.h>
#endif
