#ifndef CLOOSEOBJECTCHECK_H
#define CLOOSEOBJECTCHECK_H

#include <git2.h>
#include <stddef.h>

/// Checks that `data` (the bytes of a loose object file) is one complete zlib stream, without keeping what it
/// inflates: 0 when it is, -1 when the stream is truncated or corrupt (`reason` then names the problem).
///
/// libgit2 1.5.1 inflates a truncated loose object forever (libgit2/libgit2#7342, fixed upstream by #7346),
/// so every loose object is checked with this before libgit2 reads it.
int cairn_loose_object_check(const unsigned char *data, size_t length, const char **reason);

/// Adds a read-only backend to `odb` that checks each loose object under `objects_dir` with
/// cairn_loose_object_check before the loose backend reads it, and fails the read with a clear error when the
/// check fails. It must sit between the packed backend and the loose backend, so that objects found in a pack
/// are never checked: give it a `priority` below the packed backend's and above the loose backend's.
/// Returns 0 or a libgit2 error code.
int cairn_odb_add_loose_object_check(git_odb *odb, const char *objects_dir, int priority);

/// Sets the priorities libgit2 gives the packed and loose backends of every object database opened afterwards.
int cairn_git_set_odb_priorities(int packed, int loose);

#endif
