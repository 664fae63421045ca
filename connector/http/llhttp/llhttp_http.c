/* Compiles llhttp's http.c from the system copy (see connector/Makefile.inc). */
#include "http.c"
