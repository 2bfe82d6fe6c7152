#ifndef CAIRN_CGIT2_SHIM_H
#define CAIRN_CGIT2_SHIM_H

#include <git2.h>
#include <git2/sys/repository.h>
#include <git2/sys/odb_backend.h>
#include <git2/sys/mempack.h>

/* Swift cannot import function-like macros or call C variadic functions:
   these inline helpers stand in for them. */

static inline int cairn_git_status_options_init(git_status_options *o) {
    return git_status_options_init(o, GIT_STATUS_OPTIONS_VERSION);
}
static inline int cairn_git_diff_options_init(git_diff_options *o) {
    return git_diff_options_init(o, GIT_DIFF_OPTIONS_VERSION);
}
static inline int cairn_git_diff_find_options_init(git_diff_find_options *o) {
    return git_diff_find_options_init(o, GIT_DIFF_FIND_OPTIONS_VERSION);
}
static inline int cairn_git_checkout_options_init(git_checkout_options *o) {
    return git_checkout_options_init(o, GIT_CHECKOUT_OPTIONS_VERSION);
}
static inline int cairn_git_merge_options_init(git_merge_options *o) {
    return git_merge_options_init(o, GIT_MERGE_OPTIONS_VERSION);
}
static inline int cairn_git_repository_init_options_init(git_repository_init_options *o) {
    return git_repository_init_options_init(o, GIT_REPOSITORY_INIT_OPTIONS_VERSION);
}
static inline int cairn_git_message_trailers_free_shim(git_message_trailer_array *a) {
    git_message_trailer_array_free(a);
    return 0;
}

/* git_libgit2_opts is variadic. */
static inline int cairn_git_set_fsync(int enabled) {
    return git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, enabled);
}
static inline int cairn_git_set_search_path_none(void) {
    /* Isolate from the machine's global/xdg/system git config: the library
       never reads $HOME on its own; callers pass identity explicitly. */
    int rc = git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_SYSTEM, "");
    if (rc) return rc;
    return 0;
}
static inline int cairn_git_set_search_path(int level, const char *path) {
    return git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, level, path);
}
/* The folders libgit2 searches at config level `level` (system, XDG, global), separated by ':'. */
static inline int cairn_git_get_search_path(int level, git_buf *out) {
    return git_libgit2_opts(GIT_OPT_GET_SEARCH_PATH, level, out);
}
static inline int cairn_git_set_ssl_cert_file(const char *file) {
    return git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, file, NULL);
}
static inline int cairn_git_set_strict_hash_verification(int enabled) {
    return git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, enabled);
}
static inline int cairn_git_set_tree_cache_limit(size_t bytes) {
    return git_libgit2_opts(GIT_OPT_SET_CACHE_OBJECT_LIMIT, GIT_OBJECT_TREE, bytes);
}
static inline int cairn_git_set_mwindow_mapped_limit(size_t bytes) {
    return git_libgit2_opts(GIT_OPT_SET_MWINDOW_MAPPED_LIMIT, bytes);
}
static inline int cairn_git_set_cache_max_size(ssize_t bytes) {
    return git_libgit2_opts(GIT_OPT_SET_CACHE_MAX_SIZE, bytes);
}
static inline int cairn_git_enable_caching(int enabled) {
    return git_libgit2_opts(GIT_OPT_ENABLE_CACHING, enabled);
}
static inline int cairn_git_set_owner_validation(int enabled) {
    return git_libgit2_opts(GIT_OPT_SET_OWNER_VALIDATION, enabled);
}

/* Remotes (fetch, push, callbacks) and file merges. */
static inline int cairn_git_fetch_options_init(git_fetch_options *o) {
    return git_fetch_options_init(o, GIT_FETCH_OPTIONS_VERSION);
}
static inline int cairn_git_push_options_init(git_push_options *o) {
    return git_push_options_init(o, GIT_PUSH_OPTIONS_VERSION);
}
static inline int cairn_git_remote_callbacks_init(git_remote_callbacks *o) {
    return git_remote_init_callbacks(o, GIT_REMOTE_CALLBACKS_VERSION);
}
static inline int cairn_git_merge_file_options_init(git_merge_file_options *o) {
    return git_merge_file_options_init(o, GIT_MERGE_FILE_OPTIONS_VERSION);
}
static inline int cairn_git_merge_file_input_init(git_merge_file_input *o) {
    return git_merge_file_input_init(o, GIT_MERGE_FILE_INPUT_VERSION);
}

#endif
