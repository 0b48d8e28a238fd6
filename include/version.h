/* What deflectd was built as and the library versions it runs with. */
#ifndef DEFLECTD_VERSION_H
#define DEFLECTD_VERSION_H

#include <stdio.h>

#include "buf.h"

#ifndef DEFLECTD_VERSION
#define DEFLECTD_VERSION "0.0.0-unknown"
#endif

/* Prints "deflectd VERSION" and one line per library (deflectd --version). */
void version_print(FILE *f);
/* Appends the labels of deflectd_build_info: version="...",pcre2="...",... */
void version_labels(struct buf *out);

#endif
