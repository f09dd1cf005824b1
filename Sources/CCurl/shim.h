#ifndef CCurl_SHIM_H
#define CCurl_SHIM_H
#include <curl/curl.h>

// curl_easy_setopt and curl_easy_getinfo are variadic (and type-checking macros under GCC): one typed wrapper
// per argument kind.
static inline CURLcode berth_curl_setopt_long(CURL *c, CURLoption o, long v) { return curl_easy_setopt(c, o, v); }
static inline CURLcode berth_curl_setopt_off(CURL *c, CURLoption o, curl_off_t v) { return curl_easy_setopt(c, o, v); }
static inline CURLcode berth_curl_setopt_str(CURL *c, CURLoption o, const char *v) { return curl_easy_setopt(c, o, v); }
static inline CURLcode berth_curl_setopt_ptr(CURL *c, CURLoption o, void *v) { return curl_easy_setopt(c, o, v); }
static inline CURLcode berth_curl_setopt_slist(CURL *c, CURLoption o, struct curl_slist *v) {
    return curl_easy_setopt(c, o, v);
}
typedef size_t (*berth_curl_data_fn)(char *ptr, size_t size, size_t nmemb, void *userdata);
static inline CURLcode berth_curl_setopt_datafn(CURL *c, CURLoption o, berth_curl_data_fn f) {
    return curl_easy_setopt(c, o, f);
}
typedef int (*berth_curl_progress_fn)(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                                      curl_off_t ulnow);
static inline CURLcode berth_curl_setopt_progressfn(CURL *c, berth_curl_progress_fn f) {
    return curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, f);
}
static inline CURLcode berth_curl_getinfo_long(CURL *c, CURLINFO i, long *v) { return curl_easy_getinfo(c, i, v); }
static inline CURLcode berth_curl_getinfo_off(CURL *c, CURLINFO i, curl_off_t *v) { return curl_easy_getinfo(c, i, v); }

#endif
