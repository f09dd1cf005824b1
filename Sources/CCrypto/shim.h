#ifndef CCrypto_SHIM_H
#define CCrypto_SHIM_H
// OpenSSL's libcrypto for SHA-256 at hardware speed (SHA-NI, AVX2): layers run to hundreds of MB, and every byte
// pulled, unpacked or loaded is hashed.
#include <openssl/evp.h>
#endif
