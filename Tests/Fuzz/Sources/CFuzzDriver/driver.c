#include <stddef.h>
#include <stdint.h>
#include "alza_fuzz_driver.h"

// Both defined elsewhere: libFuzzer (libclang_rt.fuzzer, linked by -sanitize=fuzzer) and the Swift harness.
extern int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
extern int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int alza_fuzz_main(int argc, char **argv) {
    return LLVMFuzzerRunDriver(&argc, &argv, LLVMFuzzerTestOneInput);
}
