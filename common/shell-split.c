#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shell-split.h"
#include "strv.h"

/* Here-documents whose bodies start after the next newline. More than a
 * handful on one line is not a script anybody writes; the rest are skipped
 * as commands, which only errs towards checking more. */
#define MAX_PENDING_HEREDOCS 16

typedef struct Buf {
        char *p;
        size_t n, cap;
} Buf;

static void buf_done(Buf *b) {
        free(b->p);
        *b = (Buf) {};
}

static int buf_put(Buf *b, const char *s, size_t n) {
        if (b->n + n + 1 > b->cap) {
                size_t cap = (b->n + n + 1) * 2;
                char *p;

                if (cap < 64)
                        cap = 64;
                p = realloc(b->p, cap);
                if (!p)
                        return -ENOMEM;
                b->p = p;
                b->cap = cap;
        }
        memcpy(b->p + b->n, s, n);
        b->n += n;
        b->p[b->n] = 0;
        return 0;
}

static int buf_putc(Buf *b, char c) {
        return buf_put(b, &c, 1);
}

static void buf_reset(Buf *b) {
        b->n = 0;
        if (b->p)
                b->p[0] = 0;
}

static const char *buf_str(const Buf *b) {
        return b->p ?: "";
}

typedef struct Heredoc {
        char *delim;
        bool expand;            /* unquoted delimiter: substitutions in the body run */
        bool strip_tabs;        /* <<- */
} Heredoc;

typedef struct Parser {
        const char *s;
        size_t i, n;
        unsigned depth;
        ShellCommandFn fn;
        void *userdata;
        Heredoc heredocs[MAX_PENDING_HEREDOCS];
        size_t n_heredocs;
} Parser;

/* The simple command being collected. */
typedef struct Command {
        char **words;
        bool started;           /* the command word was seen */
        bool discard;           /* for/case/function header, case pattern */
        bool after_time;        /* `time -p` */
} Command;

static void command_reset(Command *c) {
        c->words = strv_free(c->words);
        c->started = c->discard = c->after_time = false;
}

static void parser_done(Parser *p) {
        for (size_t k = 0; k < p->n_heredocs; k++)
                free(p->heredocs[k].delim);
        p->n_heredocs = 0;
}

static char peek(const Parser *p, size_t off) {
        return p->i + off < p->n ? p->s[p->i + off] : 0;
}

static bool is_blank(char c) {
        return c == ' ' || c == '\t';
}

static bool is_meta(char c) {
        return c != 0 && strchr(" \t\n|&;<>()", c);
}

static int parse_list(Parser *p, char term);
static int split_at_depth(const char *script, unsigned depth, ShellCommandFn fn, void *userdata);

static int read_squote(Parser *p, Buf *w) {
        const char *end;

        p->i++;
        end = memchr(p->s + p->i, '\'', p->n - p->i);
        if (!end)
                return -EINVAL;
        if (buf_put(w, p->s + p->i, (size_t) (end - (p->s + p->i))) < 0)
                return -ENOMEM;
        p->i = (size_t) (end - p->s) + 1;
        return 0;
}

/* $'...': the escapes that matter for telling words apart are decoded;
 * others are kept as written. */
static int read_ansi_c(Parser *p, Buf *w) {
        static const char from[] = "abefnrtv\\'\"?", to[] = "\a\b\033\f\n\r\t\v\\'\"?";

        p->i += 2;
        for (;;) {
                char c = peek(p, 0), d;
                const char *k;

                if (c == 0)
                        return -EINVAL;
                if (c == '\'') {
                        p->i++;
                        return 0;
                }
                if (c != '\\') {
                        if (buf_putc(w, c) < 0)
                                return -ENOMEM;
                        p->i++;
                        continue;
                }
                d = peek(p, 1);
                if (d == 0)
                        return -EINVAL;
                k = strchr(from, d);
                if (k) {
                        if (buf_putc(w, to[k - from]) < 0)
                                return -ENOMEM;
                } else if (buf_put(w, p->s + p->i, 2) < 0)
                        return -ENOMEM;
                p->i += 2;
        }
}

/* `...`: the body is a script of its own, after the backslash escapes that
 * backquotes define are undone. */
static int read_backtick(Parser *p, Buf *w) {
        _cleanup_(buf_done) Buf inner = {};
        size_t start = p->i;
        int r;

        p->i++;
        for (;;) {
                char c = peek(p, 0), d = peek(p, 1);

                if (c == 0)
                        return -EINVAL;
                if (c == '`') {
                        p->i++;
                        break;
                }
                if (c == '\\' && (d == '`' || d == '\\' || d == '$')) {
                        if (buf_putc(&inner, d) < 0)
                                return -ENOMEM;
                        p->i += 2;
                        continue;
                }
                if (buf_putc(&inner, c) < 0)
                        return -ENOMEM;
                p->i++;
        }

        r = split_at_depth(buf_str(&inner), p->depth + 1, p->fn, p->userdata);
        if (r != 0)
                return r;
        return buf_put(w, p->s + start, p->i - start);
}

static int read_dollar(Parser *p, Buf *w, bool in_dquote);

static int read_dquote(Parser *p, Buf *w) {
        p->i++;
        for (;;) {
                char c = peek(p, 0), d = peek(p, 1);
                int r;

                switch (c) {
                case 0:
                        return -EINVAL;
                case '"':
                        p->i++;
                        return 0;
                case '\\':
                        if (d == '\n') {
                                p->i += 2;
                                continue;
                        }
                        if (d == '$' || d == '`' || d == '"' || d == '\\') {
                                r = buf_putc(w, d);
                                p->i += 2;
                        } else {
                                r = buf_putc(w, c);
                                p->i++;
                        }
                        break;
                case '$':
                        r = read_dollar(p, w, true);
                        break;
                case '`':
                        r = read_backtick(p, w);
                        break;
                default:
                        r = buf_putc(w, c);
                        p->i++;
                }
                if (r != 0)
                        return r;
        }
}

/* After "${": up to the matching brace. Words inside (${x:-$(cmd)}) may hold
 * substitutions, which run. */
static int skip_parameter(Parser *p) {
        _cleanup_(buf_done) Buf scratch = {};
        unsigned depth = 1;
        int r = 0;

        for (;;) {
                char c = peek(p, 0), d = peek(p, 1);

                if (c == 0)
                        return -EINVAL;
                if (c == '\\') {
                        p->i += d ? 2 : 1;
                        continue;
                }
                if (c == '}') {
                        p->i++;
                        if (--depth == 0)
                                return 0;
                        continue;
                }
                if (c == '$' && d == '{') {
                        p->i += 2;
                        depth++;
                        continue;
                }
                if (c == '\'')
                        r = read_squote(p, &scratch);
                else if (c == '"')
                        r = read_dquote(p, &scratch);
                else if (c == '`')
                        r = read_backtick(p, &scratch);
                else if (c == '$' && d == '(')
                        r = read_dollar(p, &scratch, false);
                else
                        p->i++;
                if (r != 0)
                        return r;
        }
}

/* At '$'. Substitutions keep their source text in the word, so a message
 * shows what was written. */
static int read_dollar(Parser *p, Buf *w, bool in_dquote) {
        size_t start = p->i;
        char d = peek(p, 1);
        int r;

        if (!in_dquote && d == '\'')
                return read_ansi_c(p, w);
        if (!in_dquote && d == '"') {
                p->i++;                 /* $"...": a locale string, quoted alike */
                return read_dquote(p, w);
        }
        if (d == '(') {
                /* $((arithmetic)) parses as a subshell inside a substitution:
                 * harmless, and any $(...) within it is still found. */
                p->i += 2;
                r = parse_list(p, ')');
        } else if (d == '{') {
                p->i += 2;
                r = skip_parameter(p);
        } else {
                p->i++;
                return buf_putc(w, '$');
        }
        if (r != 0)
                return r;
        return buf_put(w, p->s + start, p->i - start);
}

/* Reads one word with quote removal. *ret_quoted tells whether any part was
 * quoted, escaped or substituted; *ret_plain is the length of the leading
 * part that was none of these (where an assignment's name must be). */
static int read_word(Parser *p, Buf *w, bool *ret_quoted, size_t *ret_plain) {
        size_t plain = SIZE_MAX;
        int r;

        buf_reset(w);
        for (;;) {
                char c = peek(p, 0), d = peek(p, 1);
                bool special = c == '\\' || c == '\'' || c == '"' || c == '`' ||
                               (c == '$' && (d == '(' || d == '{' || d == '\'' || d == '"'));

                if (c == 0 || is_meta(c))
                        break;
                if (c == '\\' && d == '\n') {
                        p->i += 2;
                        continue;
                }
                if (special && plain == SIZE_MAX)
                        plain = w->n;

                switch (c) {
                case '\\':
                        p->i += d ? 2 : 1;
                        r = d ? buf_putc(w, d) : 0;
                        break;
                case '\'':
                        r = read_squote(p, w);
                        break;
                case '"':
                        r = read_dquote(p, w);
                        break;
                case '`':
                        r = read_backtick(p, w);
                        break;
                case '$':
                        r = read_dollar(p, w, false);
                        break;
                default:
                        r = buf_putc(w, c);
                        p->i++;
                }
                if (r != 0)
                        return r;
        }

        if (ret_quoted)
                *ret_quoted = plain != SIZE_MAX;
        if (ret_plain)
                *ret_plain = plain == SIZE_MAX ? w->n : plain;
        return 0;
}

static bool is_name_start(char c) {
        return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_name_char(char c) {
        return is_name_start(c) || (c >= '0' && c <= '9');
}

/* NAME=, NAME+=, NAME[subscript]= with the name unquoted. */
static bool is_assignment(const char *word, size_t plain) {
        size_t k = 0;

        if (!is_name_start(word[0]))
                return false;
        while (is_name_char(word[k]))
                k++;
        if (word[k] == '[') {
                const char *close = strchr(word + k, ']');
                if (!close)
                        return false;
                k = (size_t) (close - word) + 1;
        }
        if (word[k] == '+')
                k++;
        return word[k] == '=' && k < plain;
}

static bool is_io_number(const char *word) {
        size_t n = strlen(word);

        if (n == 0)
                return false;
        if (word[0] == '{' && word[n - 1] == '}')       /* {varname}>file */
                return n > 2 && strspn(word + 1, "_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == n - 2;
        return strspn(word, "0123456789") == n;
}

static bool word_in(const char *word, const char * const *list) {
        for (; *list; list++)
                if (streq(word, *list))
                        return true;
        return false;
}

static int command_add(Command *c, const char *word, bool quoted, size_t plain) {
        /* Reserved words in command position introduce the command after
         * them; `for`, `select`, `case` and `function` headers are no
         * command at all. Quoting a reserved word makes it an ordinary word. */
        static const char * const prefix_words[] = {
                "!", "{", "}", "if", "then", "else", "elif", "fi", "do", "done",
                "while", "until", "time", "coproc", "esac", NULL,
        };
        static const char * const header_words[] = { "for", "select", "case", "function", NULL };

        if (c->discard) {
                /* `function f {` and `for x do`: the body starts here. */
                if (!quoted && (streq(word, "{") || streq(word, "do")))
                        command_reset(c);
                return 0;
        }
        if (!c->started) {
                if (!quoted) {
                        if (c->after_time && streq(word, "-p")) {
                                c->after_time = false;
                                return 0;
                        }
                        if (word_in(word, prefix_words)) {
                                c->after_time = streq(word, "time");
                                return 0;
                        }
                        if (word_in(word, header_words)) {
                                c->discard = true;
                                return 0;
                        }
                }
                c->after_time = false;
                if (is_assignment(word, plain))
                        return 0;
                c->started = true;
        }
        return strv_extend(&c->words, word);
}

static int command_flush(Parser *p, Command *c) {
        int r = 0;

        if (!c->discard && c->words && c->words[0])
                r = p->fn(c->words, p->userdata);
        command_reset(c);
        return r;
}

static size_t skip_blanks_from(const Parser *p, size_t i) {
        while (i < p->n && is_blank(p->s[i]))
                i++;
        return i;
}

/* Scans here-document body text for the substitutions it would run. */
static int scan_body_line(Parser *p, size_t eol) {
        _cleanup_(buf_done) Buf scratch = {};
        int r = 0;

        while (p->i < eol && r == 0) {
                char c = peek(p, 0), d = peek(p, 1);

                if (c == '\\')
                        p->i += 2;
                else if (c == '$' && (d == '(' || d == '{'))
                        r = read_dollar(p, &scratch, true);
                else if (c == '`')
                        r = read_backtick(p, &scratch);
                else
                        p->i++;
        }
        return r;
}

static int read_heredocs(Parser *p) {
        int r = 0;

        for (size_t k = 0; k < p->n_heredocs && r == 0; k++) {
                const Heredoc *h = &p->heredocs[k];
                size_t dl = strlen(h->delim);

                /* An unterminated body runs to the end, as in bash. */
                while (p->i < p->n && r == 0) {
                        const char *line = p->s + p->i, *nl = memchr(line, '\n', p->n - p->i);
                        size_t eol = nl ? (size_t) (nl - p->s) : p->n, len = eol - p->i, skip = 0;

                        if (h->strip_tabs)
                                while (skip < len && line[skip] == '\t')
                                        skip++;
                        if (len - skip == dl && memcmp(line + skip, h->delim, dl) == 0) {
                                p->i = nl ? eol + 1 : eol;
                                break;
                        }
                        if (h->expand)
                                r = scan_body_line(p, eol);
                        if (p->i <= eol)
                                p->i = nl ? eol + 1 : eol;
                }
        }
        parser_done(p);
        return r;
}

static int add_heredoc(Parser *p, const char *delim, bool quoted, bool strip_tabs) {
        char *d;

        if (p->n_heredocs >= MAX_PENDING_HEREDOCS)
                return 0;
        d = strdup(delim);
        if (!d)
                return -ENOMEM;
        p->heredocs[p->n_heredocs++] = (Heredoc) { .delim = d, .expand = !quoted, .strip_tabs = strip_tabs };
        return 0;
}

/* At '<', '>' or "&>". Consumes the operator and its target word. */
static int parse_redirect(Parser *p, Command *c) {
        _cleanup_(buf_done) Buf w = {};
        char c0 = peek(p, 0), c1 = peek(p, 1), c2 = peek(p, 2);
        bool quoted;
        int r;

        if ((c0 == '<' || c0 == '>') && c1 == '(') {
                /* Process substitution: a command, and an argument (/dev/fd/N). */
                size_t start = p->i;

                p->i += 2;
                r = parse_list(p, ')');
                if (r != 0)
                        return r;
                if (c->discard)
                        return 0;
                c->started = true;
                if (buf_put(&w, p->s + start, p->i - start) < 0)
                        return -ENOMEM;
                return strv_extend(&c->words, buf_str(&w));
        }

        if (c0 == '<' && c1 == '<' && c2 != '<') {
                bool strip = c2 == '-';

                p->i += strip ? 3 : 2;
                p->i = skip_blanks_from(p, p->i);
                if (peek(p, 0) == 0 || is_meta(peek(p, 0)))
                        return 0;
                r = read_word(p, &w, &quoted, NULL);
                if (r != 0)
                        return r;
                return add_heredoc(p, buf_str(&w), quoted, strip);
        }

        /* <<< (here-string: its word is data), <, <&, <>, >, >>, >|, >&, &>, &>> */
        if (c0 == '<' && c1 == '<')
                p->i += 3;
        else if (c0 == '&')
                p->i += c2 == '>' ? 3 : 2;
        else
                p->i += (c1 == '&' || c1 == '>' || c1 == '|') ? 2 : 1;

        p->i = skip_blanks_from(p, p->i);
        if (peek(p, 0) == 0 || is_meta(peek(p, 0)))
                return 0;
        return read_word(p, &w, NULL, NULL);
}

static int parse_list_inner(Parser *p, char term) {
        _cleanup_(command_reset) Command cmd = {};
        _cleanup_(buf_done) Buf w = {};
        int r;

        for (;;) {
                char c = peek(p, 0), d = peek(p, 1);

                if (is_blank(c)) {
                        p->i++;
                        continue;
                }
                if (c == '\\' && d == '\n') {
                        p->i += 2;
                        continue;
                }
                if (c == 0)
                        return term ? -EINVAL : command_flush(p, &cmd);
                if (c == term) {
                        p->i++;
                        return command_flush(p, &cmd);
                }

                r = 0;
                switch (c) {
                case '\n':
                        p->i++;
                        r = command_flush(p, &cmd);
                        if (r == 0)
                                r = read_heredocs(p);
                        break;
                case ';':
                        p->i++;
                        while (peek(p, 0) == ';' || peek(p, 0) == '&')  /* ;; ;& ;;& */
                                p->i++;
                        r = command_flush(p, &cmd);
                        break;
                case '&':
                        if (d == '>') {
                                r = parse_redirect(p, &cmd);
                                break;
                        }
                        p->i += d == '&' ? 2 : 1;
                        r = command_flush(p, &cmd);
                        break;
                case '|':
                        p->i += (d == '|' || d == '&') ? 2 : 1;
                        r = command_flush(p, &cmd);
                        break;
                case '(':
                        if (cmd.words) {
                                /* name () { ...; }: the name is no command. */
                                size_t j = skip_blanks_from(p, p->i + 1);
                                if (j < p->n && p->s[j] == ')') {
                                        command_reset(&cmd);
                                        p->i = j + 1;
                                        break;
                                }
                        }
                        r = command_flush(p, &cmd);
                        if (r != 0)
                                break;
                        p->i++;
                        r = parse_list(p, ')');
                        break;
                case ')':
                        /* Unbalanced here: the end of a case pattern, `a)`.
                         * The pattern is no command. */
                        p->i++;
                        command_reset(&cmd);
                        break;
                case '<':
                case '>':
                        r = parse_redirect(p, &cmd);
                        break;
                case '#':
                        while (peek(p, 0) != 0 && peek(p, 0) != '\n')
                                p->i++;
                        break;
                default: {
                        bool quoted;
                        size_t plain;
                        char next;

                        r = read_word(p, &w, &quoted, &plain);
                        if (r != 0)
                                break;
                        next = peek(p, 0);
                        if (!quoted && (next == '<' || next == '>') && is_io_number(buf_str(&w)))
                                break;  /* 2>file: the number belongs to the redirection */
                        r = command_add(&cmd, buf_str(&w), quoted, plain);
                }
                }
                if (r != 0)
                        return r;
        }
}

static int parse_list(Parser *p, char term) {
        int r;

        if (p->depth >= SHELL_SPLIT_MAX_DEPTH)
                return -ELOOP;
        p->depth++;
        r = parse_list_inner(p, term);
        p->depth--;
        return r;
}

static int split_at_depth(const char *script, unsigned depth, ShellCommandFn fn, void *userdata) {
        Parser p = {
                .s = script,
                .n = strlen(script),
                .depth = depth,
                .fn = fn,
                .userdata = userdata,
        };
        int r;

        r = parse_list(&p, 0);
        parser_done(&p);
        return r;
}

int shell_split(const char *script, ShellCommandFn fn, void *userdata) {
        if (!script || !fn)
                return -EINVAL;
        return split_at_depth(script, 0, fn, userdata);
}

int shell_split_words(const char *s, char ***ret) {
        _cleanup_strv_free_ char **words = NULL;
        _cleanup_(buf_done) Buf w = {};
        bool in_word = false;
        char quote = 0;

        for (const char *c = s;; c++) {
                if (*c == 0) {
                        if (quote)
                                return -EINVAL;
                        break;
                }
                if (quote) {
                        if (*c == quote)
                                quote = 0;
                        else if (quote == '"' && *c == '\\' && c[1] && strchr("\\\"$`", c[1])) {
                                if (buf_putc(&w, *++c) < 0)
                                        return -ENOMEM;
                        } else if (buf_putc(&w, *c) < 0)
                                return -ENOMEM;
                        continue;
                }
                if (is_blank(*c) || *c == '\n') {
                        if (in_word && strv_extend(&words, buf_str(&w)) < 0)
                                return -ENOMEM;
                        buf_reset(&w);
                        in_word = false;
                        continue;
                }
                in_word = true;
                if (*c == '\'' || *c == '"')
                        quote = *c;
                else if (*c == '\\' && c[1]) {
                        if (buf_putc(&w, *++c) < 0)
                                return -ENOMEM;
                } else if (buf_putc(&w, *c) < 0)
                        return -ENOMEM;
        }
        if (in_word && strv_extend(&words, buf_str(&w)) < 0)
                return -ENOMEM;
        if (!words) {
                words = calloc(1, sizeof(char *));
                if (!words)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(words);
        return 0;
}
