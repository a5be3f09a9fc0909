// SHA-256 (FIPS 180-4) on the x86 SHA extensions (SHA-NI): the compression function runs on
// _mm_sha256rnds2/msg1/msg2, about 8 times faster than portable C. Padding and buffering are plain C.
// Alza uses it only when alza_sha256_hardware_available() says the CPU has the instructions; libsodium's
// portable SHA-256 is the fallback and the reference the tests compare against on every length.
#include "CAlzaSHA.h"
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>

static const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

int alza_sha256_hardware_available(void) {
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    int ssse3 = (ecx >> 9) & 1, sse41 = (ecx >> 19) & 1;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return 0;
    int sha = (ebx >> 29) & 1;
    return ssse3 && sse41 && sha;
}

// One 4-round group g of the message schedule and compression. m[] holds the four live schedule words;
// group g consumes m[g % 4], finishes m[(g + 1) % 4] (msg2) and starts m[(g - 1) % 4] (msg1).
#define ALZA_ROUNDS(g)                                                                              \
    do {                                                                                            \
        __m128i current = m[(g) & 3];                                                               \
        __m128i message = _mm_add_epi32(current, _mm_loadu_si128((const __m128i *)&K256[4 * (g)])); \
        state1 = _mm_sha256rnds2_epu32(state1, state0, message);                                    \
        if ((g) >= 3 && (g) <= 14) {                                                                \
            __m128i carry = _mm_alignr_epi8(current, m[((g) + 3) & 3], 4);                          \
            m[((g) + 1) & 3] = _mm_sha256msg2_epu32(_mm_add_epi32(m[((g) + 1) & 3], carry), current); \
        }                                                                                           \
        message = _mm_shuffle_epi32(message, 0x0E);                                                 \
        state0 = _mm_sha256rnds2_epu32(state0, state1, message);                                    \
        if ((g) >= 1 && (g) <= 12) m[((g) + 3) & 3] = _mm_sha256msg1_epu32(m[((g) + 3) & 3], current); \
    } while (0)

__attribute__((target("sha,sse4.1,ssse3")))
static void alza_sha256_blocks(uint32_t digest[8], const uint8_t *data, size_t blocks) {
    const __m128i byteSwap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i tmp = _mm_loadu_si128((const __m128i *)&digest[0]);
    __m128i state1 = _mm_loadu_si128((const __m128i *)&digest[4]);
    tmp = _mm_shuffle_epi32(tmp, 0xB1);              // CDAB
    state1 = _mm_shuffle_epi32(state1, 0x1B);        // EFGH
    __m128i state0 = _mm_alignr_epi8(tmp, state1, 8); // ABEF
    state1 = _mm_blend_epi16(state1, tmp, 0xF0);     // CDGH

    while (blocks--) {
        const __m128i savedABEF = state0, savedCDGH = state1;
        __m128i m[4];
        m[0] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 0)), byteSwap);
        m[1] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 16)), byteSwap);
        m[2] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 32)), byteSwap);
        m[3] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 48)), byteSwap);
        ALZA_ROUNDS(0);  ALZA_ROUNDS(1);  ALZA_ROUNDS(2);  ALZA_ROUNDS(3);
        ALZA_ROUNDS(4);  ALZA_ROUNDS(5);  ALZA_ROUNDS(6);  ALZA_ROUNDS(7);
        ALZA_ROUNDS(8);  ALZA_ROUNDS(9);  ALZA_ROUNDS(10); ALZA_ROUNDS(11);
        ALZA_ROUNDS(12); ALZA_ROUNDS(13); ALZA_ROUNDS(14); ALZA_ROUNDS(15);
        state0 = _mm_add_epi32(state0, savedABEF);
        state1 = _mm_add_epi32(state1, savedCDGH);
        data += 64;
    }

    tmp = _mm_shuffle_epi32(state0, 0x1B);           // FEBA
    state1 = _mm_shuffle_epi32(state1, 0xB1);        // DCHG
    state0 = _mm_blend_epi16(tmp, state1, 0xF0);     // DCBA
    state1 = _mm_alignr_epi8(state1, tmp, 8);        // ABEF
    _mm_storeu_si128((__m128i *)&digest[0], state0);
    _mm_storeu_si128((__m128i *)&digest[4], state1);
}

#else

int alza_sha256_hardware_available(void) { return 0; }

static void alza_sha256_blocks(uint32_t digest[8], const uint8_t *data, size_t blocks) {
    // Never called: the Swift side uses libsodium when the hardware path is unavailable.
    (void)digest; (void)data; (void)blocks;
}

#endif

void alza_sha256_init(alza_sha256_context *context) {
    static const uint32_t initial[8] = {
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
    };
    memcpy(context->state, initial, sizeof(initial));
    context->length = 0;
    context->buffered = 0;
}

void alza_sha256_update(alza_sha256_context *context, const uint8_t *data, size_t length) {
    context->length += length;
    if (context->buffered > 0) {
        size_t take = 64 - context->buffered;
        if (take > length) take = length;
        memcpy(context->buffer + context->buffered, data, take);
        context->buffered += take;
        data += take;
        length -= take;
        if (context->buffered < 64) return;
        alza_sha256_blocks(context->state, context->buffer, 1);
        context->buffered = 0;
    }
    if (length >= 64) {
        alza_sha256_blocks(context->state, data, length / 64);
        data += length & ~(size_t)63;
        length &= 63;
    }
    if (length > 0) {
        memcpy(context->buffer, data, length);
        context->buffered = length;
    }
}

void alza_sha256_final(alza_sha256_context *context, uint8_t digest[32]) {
    uint64_t bits = context->length * 8;
    uint8_t padding[72];
    size_t padLength = (context->buffered < 56) ? 56 - context->buffered : 120 - context->buffered;
    memset(padding, 0, sizeof(padding));
    padding[0] = 0x80;
    for (int i = 0; i < 8; i++) padding[padLength + i] = (uint8_t)(bits >> (56 - 8 * i));
    uint64_t length = context->length;
    alza_sha256_update(context, padding, padLength + 8);
    context->length = length;
    for (int i = 0; i < 8; i++) {
        digest[4 * i + 0] = (uint8_t)(context->state[i] >> 24);
        digest[4 * i + 1] = (uint8_t)(context->state[i] >> 16);
        digest[4 * i + 2] = (uint8_t)(context->state[i] >> 8);
        digest[4 * i + 3] = (uint8_t)(context->state[i]);
    }
}

void alza_sha256(const uint8_t *data, size_t length, uint8_t digest[32]) {
    alza_sha256_context context;
    alza_sha256_init(&context);
    alza_sha256_update(&context, data, length);
    alza_sha256_final(&context, digest);
}
