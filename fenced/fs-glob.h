/* fs-glob.h — expanding a filesystem path pattern against the real tree,
 * with hard bounds.
 *
 * Syntax, per path component: `*` any run of characters, `?` one character,
 * `[abc]`, `[a-z]`, `[!x]`/`[^x]` a character class, `\` escapes the next
 * character. `**` as a whole component matches zero or more directories.
 * Wildcards match dotfiles too (a denyRead of "*.key" below a `**` must
 * catch `.secret.key`).
 *
 * Semantics, chosen for enforcement on hierarchies (mounts, Landlock):
 *   - the result is the set of *existing* paths matching the pattern, sorted,
 *     without duplicates. A pattern without wildcards yields its own path if
 *     it exists and nothing otherwise (fence skips missing paths as well;
 *     callers that must act on a missing literal path check for it
 *     themselves, see fs_glob_has_magic());
 *   - a trailing `**` component yields the directories matched by what
 *     precedes it, not every entry below them: "dir", then "**", means the
 *     whole of dir;
 *   - components given literally are resolved by the kernel and may go
 *     through symlinks, as the user wrote them. Entries found by scanning a
 *     directory (any wildcard component, and the component after `**`) are
 *     never traversed through symlinks, so `**` cannot loop; a matching
 *     symlink is returned as its own path (callers resolve it or not);
 *   - directories that vanish or cannot be read while walking are skipped:
 *     what the caller cannot read, the sandbox (same identity) cannot either.
 *
 * Bounds (fail closed: an expansion that hits one is an error, never a
 * silently truncated list): how deep `**` descends, how many paths match,
 * how many directory entries are read. Hitting one returns -E2BIG after
 * logging which bound and how to proceed.
 *
 * Walks relative to directory fds (openat, O_NOFOLLOW|O_DIRECTORY, getdents64)
 * and only uses calls that honour the fsuid: run it under the caller's
 * identity. The pattern must be absolute (expand `~` and relative paths
 * first).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define FS_GLOB_MAX_DEPTH_DEFAULT 32U
#define FS_GLOB_MAX_MATCHES_DEFAULT 10000U
#define FS_GLOB_MAX_VISITED_DEFAULT 100000U

typedef struct FsGlobLimits {
        unsigned max_depth;     /* directory levels below a `**`; 0: default */
        size_t max_matches;     /* paths returned; 0: default */
        size_t max_visited;     /* directory entries read; 0: default */
} FsGlobLimits;

/* True when pattern contains an unescaped `*`, `?` or `[`. */
bool fs_glob_has_magic(const char *pattern);

/* True when pattern (absolute) is a plain path: no glob character, no
 * backslash, no empty, "." or ".." component, no trailing slash. fs_glob()
 * then returns it alone when lstat() finds it, nothing when lstat() fails
 * with ENOENT, ENOTDIR, EACCES or ELOOP. */
bool fs_glob_is_plain(const char *pattern);

/* Matches one path component against one pattern component (no `/`). */
bool fs_glob_match_name(const char *pattern, const char *name);

/* Expands pattern. limits may be NULL (all defaults). On success returns the
 * number of paths and stores a NULL-terminated, sorted strv (possibly empty,
 * never NULL) in *ret_paths. -EINVAL for a relative or empty pattern, -E2BIG
 * when a bound is hit, other -errno on I/O errors. */
int fs_glob(const char *pattern, const FsGlobLimits *limits, char ***ret_paths);
/* The same; on -E2BIG, *ret_error (if not NULL) gets a sentence naming the
 * pattern, the bound and what to do. */
int fs_glob_full(const char *pattern, const FsGlobLimits *limits, char ***ret_paths, char **ret_error);
