/* Tests for common/shell-split.c: which simple commands a script runs. */
#include <criterion/criterion.h>

#include "shell-split.h"
#include "strv.h"

/* Each command joined by '|' between words, commands separated by " ; ". */
typedef struct Collected {
        char *text;
} Collected;

static int collect(char **argv, void *userdata) {
        Collected *c = userdata;
        _cleanup_free_ char *joined = strv_join(argv, "|");
        char *t = NULL;

        cr_assert_not_null(joined);
        cr_assert(asprintf(&t, "%s%s%s", c->text ?: "", c->text ? " ; " : "", joined) >= 0);
        free(c->text);
        c->text = t;
        return 0;
}

static void expect(const char *script, const char *want) {
        Collected c = {};
        int r = shell_split(script, collect, &c);

        cr_assert_eq(r, 0, "shell_split(%s) = %d", script, r);
        cr_expect_str_eq(c.text ?: "", want, "script: %s", script);
        free(c.text);
}

static void expect_error(const char *script, int error) {
        Collected c = {};
        cr_expect_eq(shell_split(script, collect, &c), error, "script: %s", script);
        free(c.text);
}

Test(shell_split, operators) {
        expect("ls", "ls");
        expect("ls && pwd", "ls ; pwd");
        expect("ls || pwd", "ls ; pwd");
        expect("ls; pwd", "ls ; pwd");
        expect("ls | grep foo", "ls ; grep|foo");
        expect("ls |& grep foo", "ls ; grep|foo");
        expect("sleep 1 & git push", "sleep|1 ; git|push");
        expect("ls && pwd || echo fail; date", "ls ; pwd ; echo|fail ; date");
        expect("ls\ngit push\n\n", "ls ; git|push");
        expect("git   push\t origin", "git|push|origin");
}

Test(shell_split, quotes_keep_operators_inside_words) {
        expect("echo \"hello && world\"", "echo|hello && world");
        expect("echo 'a; b' | cat", "echo|a; b ; cat");
        expect("git push \"origin\" 'main'", "git|push|origin|main");
        expect("echo it\\'s; ls", "echo|it's ; ls");
        expect("echo \"a \\\"b\\\" c\"", "echo|a \"b\" c");
        expect("echo $'a\\tb'", "echo|a\tb");
        expect("ec''ho x", "echo|x");
        expect("echo a\\\nb", "echo|ab");
}

Test(shell_split, subshells_groups_and_substitutions) {
        expect("(ls && git push)", "ls ; git|push");
        expect("{ git push; }", "git|push");
        expect("echo $(git push)", "git|push ; echo|$(git push)");
        expect("echo `rm -rf /`", "rm|-rf|/ ; echo|`rm -rf /`");
        expect("echo \"x $(git push 'a b') y\"", "git|push|a b ; echo|x $(git push 'a b') y");
        expect("x=$(git push)", "git|push");
        expect("echo ${x:-$(git push)}", "git|push ; echo|${x:-$(git push)}");
        expect("diff <(git push) >(tee)", "git|push ; tee ; diff|<(git push)|>(tee)");
        expect("echo $(echo $(git push))", "git|push ; echo|$(git push) ; echo|$(echo $(git push))");
        expect("echo `echo \\`git push\\``", "git|push ; echo|`git push` ; echo|`echo \\`git push\\``");
}

Test(shell_split, reserved_words_assignments_redirections) {
        expect("FOO=1 BAR='a b' git push", "git|push");
        expect("FOO=1", "");
        expect("2>/dev/null git push >out", "git|push");
        expect("git push 2>&1 | cat", "git|push ; cat");
        expect("cat < in > out >> log &> all", "cat");
        expect("if git push; then echo ok; else reboot; fi", "git|push ; echo|ok ; reboot");
        expect("while true; do git push; done", "true ; git|push");
        expect("for f in $(ls); do git add $f; done", "ls ; git|add|$f");
        expect("case $x in a|b) git push;; *) echo;; esac", "git|push ; echo");
        expect("f() { git push; }; f", "git|push ; f");
        expect("function f { git push; }", "git|push");
        expect("! git push", "git|push");
        expect("time -p git push", "git|push");
        expect("'if' x", "if|x");          /* quoted: an ordinary word */
        expect("\"FOO\"=1 cmd", "FOO=1|cmd");  /* not an assignment */
        expect("echo x=1", "echo|x=1");
        expect("ls # git push", "ls");
        expect("echo a#b", "echo|a#b");
}

Test(shell_split, here_documents) {
        expect("cat <<EOF\n$(git push)\ngit status\nEOF\necho done", "cat ; git|push ; echo|done");
        expect("cat <<'EOF'\n$(git push)\nEOF\nls", "cat ; ls");
        expect("cat <<-EOF\n\t`git push`\n\tEOF\nls", "cat ; git|push ; ls");
        expect("cat <<<\"$(git push)\"", "git|push ; cat");
}

Test(shell_split, errors) {
        expect_error("echo \"unterminated", -EINVAL);
        expect_error("echo 'unterminated", -EINVAL);
        expect_error("echo $(ls", -EINVAL);
        expect_error("(ls", -EINVAL);
        expect_error("echo `ls", -EINVAL);

        _cleanup_free_ char *deep = malloc(2 * SHELL_SPLIT_MAX_DEPTH + 8);
        size_t k = 0;
        for (int i = 0; i < SHELL_SPLIT_MAX_DEPTH + 1; i++)
                deep[k++] = '(';
        deep[k++] = 'l';
        for (int i = 0; i < SHELL_SPLIT_MAX_DEPTH + 1; i++)
                deep[k++] = ')';
        deep[k] = 0;
        expect_error(deep, -ELOOP);
}

static int stop_at_second(char **argv, void *userdata) {
        int *seen = userdata;
        return ++*seen == 2 ? 42 : 0;
}

Test(shell_split, callback_result_stops_the_walk) {
        int seen = 0;
        cr_expect_eq(shell_split("a; b; c", stop_at_second, &seen), 42);
        cr_expect_eq(seen, 2);
}

Test(shell_split, words) {
        _cleanup_strv_free_ char **w = NULL;

        cr_assert_eq(shell_split_words("  git push 'a b' \"c \\\"d\\\"\" e\\ f ", &w), 0);
        cr_assert_eq(strv_length(w), 5);
        cr_expect_str_eq(w[0], "git");
        cr_expect_str_eq(w[2], "a b");
        cr_expect_str_eq(w[3], "c \"d\"");
        cr_expect_str_eq(w[4], "e f");
        cr_expect_eq(shell_split_words("a 'b", &w), -EINVAL);
}
