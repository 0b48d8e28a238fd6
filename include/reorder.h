/*
 * The reorder buffer: holds items until the watermark passes their event
 * time, then hands them out in time order (ties in arrival order). This is
 * how out-of-order posts within the lateness are handled. Pure.
 */
#ifndef DEFLECTD_REORDER_H
#define DEFLECTD_REORDER_H

#include <stddef.h>
#include <stdint.h>

struct reorder;

struct reorder *reorder_new(void);
/* Frees the buffer, calling free_item (if not NULL) on every item still held. */
void reorder_free(struct reorder *r, void (*free_item)(void *));
void reorder_push(struct reorder *r, int64_t at, void *item);
/* Removes and returns the earliest item with time <= upto, or NULL. */
void *reorder_pop(struct reorder *r, int64_t upto);
/* Time of the earliest item; only valid when reorder_len() > 0. */
int64_t reorder_peek_time(const struct reorder *r);
size_t reorder_len(const struct reorder *r);

#endif
