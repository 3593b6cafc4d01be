#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonc.h"
#include "macro.h"

typedef enum State {
        STATE_NORMAL,
        STATE_STRING,
        STATE_LINE_COMMENT,
        STATE_BLOCK_COMMENT,
} State;

static bool is_json_space(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

void jsonc_position(const char *text, size_t size, size_t offset, unsigned *ret_line, unsigned *ret_column) {
        unsigned line = 1, column = 1;

        if (offset > size)
                offset = size;
        for (size_t i = 0; i < offset; i++) {
                unsigned char c = (unsigned char) text[i];
                if (c == '\n') {
                        line++;
                        column = 1;
                } else if ((c & 0xC0) != 0x80)
                        /* UTF-8 continuation bytes do not start a new character. */
                        column++;
        }
        *ret_line = line;
        *ret_column = column;
}

static int fail(const char *text, size_t size, size_t offset, const char *message, JsoncError *ret_error) {
        if (ret_error) {
                jsonc_position(text, size, offset, &ret_error->line, &ret_error->column);
                ret_error->message = message;
        }
        return -EBADMSG;
}

/* Core pass. With out == NULL only scans (for jsonc_is_blank()); *ret_significant
 * tells whether anything but whitespace and comments was seen. */
static int strip(const char *text, size_t size, char *out, bool *ret_significant, JsoncError *ret_error) {
        State state = STATE_NORMAL;
        size_t comment_start = 0, pending_comma = SIZE_MAX;
        unsigned depth = 0;
        char last = 0;          /* last significant character outside strings and comments */
        bool significant = false;
        size_t i = 0;

        /* A UTF-8 byte order mark is harmless; editors on some systems write one. */
        if (size >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
                if (out)
                        memset(out, ' ', 3);
                i = 3;
        }

        for (; i < size; i++) {
                char c = text[i];

                if (c == 0)
                        return fail(text, size, i, "file contains a NUL byte (is it a text file?)", ret_error);

                switch (state) {
                case STATE_STRING:
                        if (c == '\\') {
                                if (i + 1 >= size)
                                        break;
                                if (text[i + 1] == 'u' && i + 6 <= size && memcmp(text + i + 2, "0000", 4) == 0)
                                        return fail(text, size, i, "\\u0000 is not allowed in strings", ret_error);
                                i++;    /* the escaped character can't end the string */
                        } else if (c == '"')
                                state = STATE_NORMAL;
                        break;

                case STATE_LINE_COMMENT:
                        if (c == '\n')
                                state = STATE_NORMAL;
                        else if (out)
                                out[i] = ' ';
                        break;

                case STATE_BLOCK_COMMENT:
                        if (c == '*' && i + 1 < size && text[i + 1] == '/') {
                                if (out)
                                        out[i] = out[i + 1] = ' ';
                                i++;
                                state = STATE_NORMAL;
                        } else if (out && c != '\n')
                                out[i] = ' ';
                        break;

                case STATE_NORMAL:
                        if (is_json_space(c))
                                break;

                        if (c == '/' && i + 1 < size && (text[i + 1] == '/' || text[i + 1] == '*')) {
                                state = text[i + 1] == '/' ? STATE_LINE_COMMENT : STATE_BLOCK_COMMENT;
                                comment_start = i;
                                if (out)
                                        out[i] = out[i + 1] = ' ';
                                i++;
                                break;
                        }

                        significant = true;

                        if ((c == ']' || c == '}') && pending_comma != SIZE_MAX && out)
                                out[pending_comma] = ' ';
                        pending_comma = SIZE_MAX;

                        switch (c) {
                        case '"':
                                state = STATE_STRING;
                                break;
                        case '{':
                        case '[':
                                if (++depth > JSONC_DEPTH_MAX)
                                        return fail(text, size, i, "nesting is too deep", ret_error);
                                break;
                        case '}':
                        case ']':
                                if (depth > 0)
                                        depth--;
                                break;
                        case ',':
                                /* Only a comma after a value can be a trailing one: "[,]"
                                 * and "{,}" stay errors. */
                                if (last != 0 && last != '{' && last != '[' && last != ',' && last != ':')
                                        pending_comma = i;
                                break;
                        }
                        /* A string counts as a value for the trailing-comma rule. */
                        last = c == '"' ? 'v' : c;
                        break;
                }
        }

        if (state == STATE_BLOCK_COMMENT)
                return fail(text, size, comment_start, "unterminated comment", ret_error);

        if (ret_significant)
                *ret_significant = significant;
        return 0;
}

int jsonc_to_json(const char *text, size_t size, char **ret, JsoncError *ret_error) {
        _cleanup_free_ char *out = NULL;
        int r;

        out = malloc(size + 1);
        if (!out)
                return -ENOMEM;
        memcpy(out, text, size);
        out[size] = 0;

        r = strip(text, size, out, NULL, ret_error);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(out);
        return 0;
}

bool jsonc_is_blank(const char *text, size_t size) {
        bool significant = true;

        if (strip(text, size, NULL, &significant, NULL) < 0)
                return false;
        return !significant;
}
