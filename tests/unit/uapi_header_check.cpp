// The same checks as uapi_header_check.c, compiled as C++20 -pedantic: the
// header must mean the same thing to a C++ client.
#include "uapi_header_check.c"
