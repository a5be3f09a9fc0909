#ifndef ALZA_SHA256_X86_H
#define ALZA_SHA256_X86_H

#include <stddef.h>
#include <stdint.h>

/// Incremental SHA-256 state for the hardware (x86 SHA extensions) path.
typedef struct {
    uint32_t state[8];
    uint64_t length;      /* bytes hashed so far */
    uint8_t buffer[64];
    size_t buffered;
} alza_sha256_context;

/// 1 when this CPU has the SHA extensions (and SSSE3, SSE4.1) the hardware path needs, else 0.
int alza_sha256_hardware_available(void);

/// The hardware path. Callers must check alza_sha256_hardware_available() first.
void alza_sha256_init(alza_sha256_context *context);
void alza_sha256_update(alza_sha256_context *context, const uint8_t *data, size_t length);
void alza_sha256_final(alza_sha256_context *context, uint8_t digest[32]);
void alza_sha256(const uint8_t *data, size_t length, uint8_t digest[32]);

#endif
