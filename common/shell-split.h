/* shell-split.h — finds the simple commands a POSIX shell script would run,
 * for the command policy's preflight of `sh -c STRING`.
 *
 * The script is split on ;, &, &&, |, ||, |&, newlines, ( ) and { }, and
 * command substitutions — $( ), backticks, also inside double quotes, ${ }
 * and unquoted here-documents — and process substitutions <( ) >( ) are
 * descended into. Quotes and backslashes are removed as the shell removes
 * them. Expansions ($VAR, globs, ~) stay as literal text: their values are
 * unknown before the script runs, which is why the runtime exec supervisor
 * exists. Leading variable assignments, redirections with their targets and
 * reserved words (if, then, do, !, {, time, ...) are dropped, so
 * `FOO=1 2>/dev/null git push` yields ["git", "push"]; `for`, `case` and
 * `function` headers yield nothing.
 *
 * This is not a shell: it errs towards reporting more commands (a case
 * pattern may show up as a command) rather than fewer.
 */
#pragma once

#include "macro.h"

/* Nesting limit for subshells and substitutions. */
#define SHELL_SPLIT_MAX_DEPTH 64

/* argv is NULL-terminated, non-empty and owned by the splitter (valid during
 * the call only). A nonzero return stops the walk and is passed on. */
typedef int (*ShellCommandFn)(char **argv, void *userdata);

/* Calls fn for each simple command in the order they are found (a command
 * substitution before the command whose word contains it). Returns 0, the
 * first nonzero value fn returned, -EINVAL for an unterminated quote,
 * substitution or subshell, -ELOOP beyond SHELL_SPLIT_MAX_DEPTH, -ENOMEM. */
int shell_split(const char *script, ShellCommandFn fn, void *userdata);

/* Splits s into words the way `env -S` does: blanks separate, quotes and
 * backslashes are removed, no operators. -EINVAL on an unterminated quote. */
int shell_split_words(const char *s, char ***ret);
