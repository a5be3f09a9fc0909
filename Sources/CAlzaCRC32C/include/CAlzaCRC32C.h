#ifndef ALZA_CRC32C_X86_H
#define ALZA_CRC32C_X86_H

#include <stddef.h>
#include <stdint.h>

/// 1 when this CPU has SSE4.2 (its crc32 instruction computes CRC-32C), else 0.
int alza_crc32c_hardware_available(void);

/// CRC-32C of `length` bytes continuing from the reflected, inverted state `crc` (pass ~previous, get ~result:
/// the Swift side does the inversions). Callers must check alza_crc32c_hardware_available() first.
uint32_t alza_crc32c_hardware_update(uint32_t crc, const uint8_t *data, size_t length);

#endif
