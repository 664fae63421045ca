/* Compiles llhttp's llhttp.c from the system copy (see connector/Makefile.inc). */
#include "llhttp.c"
