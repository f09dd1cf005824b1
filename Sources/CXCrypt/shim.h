#ifndef CXCrypt_SHIM_H
#define CXCrypt_SHIM_H
// libxcrypt's crypt_r for htpasswd entries: bcrypt ($2y$, what `htpasswd -B` and Docker's registry use) and the
// SHA-crypt forms. Glibc's module does not export <crypt.h>.
#include <crypt.h>
#endif
