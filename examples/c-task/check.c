/* A Fusion task in C: `check` approves an order of at most 100 items.
 *
 * It implements the `fusion:task` world through the bindings `wit-bindgen c` writes into gen/
 * (see build.sh): `exports_task_handle` gets the request's payload (JSON bytes) and answers
 * with a payload of its own or an error message. */
#include <stdlib.h>
#include <string.h>

#include "gen/task.h"

/* The number after "quantity": in the JSON payload, or 1 when there is none. */
static long quantity_of(const uint8_t *json, size_t len) {
    char *text = malloc(len + 1);
    memcpy(text, json, len);
    text[len] = '\0';
    long quantity = 1;
    const char *key = strstr(text, "\"quantity\"");
    if (key) {
        const char *colon = strchr(key, ':');
        if (colon) quantity = strtol(colon + 1, NULL, 10);
    }
    free(text);
    return quantity;
}

bool exports_task_handle(task_list_u8_t *payload, task_list_u8_t *ret, task_string_t *err) {
    long quantity = quantity_of(payload->ptr, payload->len);
    task_list_u8_free(payload);
    if (quantity < 0) {
        task_string_dup(err, "quantity must not be negative");
        return false;
    }
    bool ok = quantity <= 100;
    /* The answer, written without stdio: printf would make the module import WASI preview 1,
     * which then needs wasm-tools' adapter to become a component. */
    char digits[24];
    size_t n = 0;
    do digits[n++] = (char)('0' + quantity % 10); while ((quantity /= 10) > 0);
    const char *head = ok ? "{\"ok\":true,\"quantity\":" : "{\"ok\":false,\"quantity\":";
    size_t head_len = strlen(head);
    ret->len = head_len + n + 1;
    ret->ptr = malloc(ret->len);
    memcpy(ret->ptr, head, head_len);
    for (size_t i = 0; i < n; i++) ret->ptr[head_len + i] = (uint8_t)digits[n - 1 - i];
    ret->ptr[ret->len - 1] = '}';
    return true;
}
