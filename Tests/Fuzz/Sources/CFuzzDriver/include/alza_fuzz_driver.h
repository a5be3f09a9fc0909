#ifndef ALZA_FUZZ_DRIVER_H
#define ALZA_FUZZ_DRIVER_H

/// SwiftPM links an executable target with `main` aliased to `<module>_main` (here `alza_fuzz_main`). The
/// harness module has no top-level code (libFuzzer owns `main`), so this C trampoline provides that symbol and
/// hands control to libFuzzer's driver, which calls LLVMFuzzerInitialize and LLVMFuzzerTestOneInput.
int alza_fuzz_main(int argc, char **argv);

#endif
