/* Compiles llhttp's api.c from the system copy (see connector/Makefile.inc). */
#include "api.c"
