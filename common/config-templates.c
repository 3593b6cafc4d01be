#include <string.h>

#include "config-templates.h"
#include "macro.h"

/* Defined in the C file that scripts/embed.py generates from templates/. */
extern const char config_template_code[];
extern const char config_template_code_relaxed[];
extern const char config_template_code_strict[];
extern const char config_template_disable_telemetry[];
extern const char config_template_git_readonly[];
extern const char config_template_local_dev_server[];

static const ConfigTemplate templates[] = {
        { "code", config_template_code },
        { "code-relaxed", config_template_code_relaxed },
        { "code-strict", config_template_code_strict },
        { "disable-telemetry", config_template_disable_telemetry },
        { "git-readonly", config_template_git_readonly },
        { "local-dev-server", config_template_local_dev_server },
};

const ConfigTemplate *config_templates(size_t *ret_n) {
        *ret_n = ELEMENTSOF(templates);
        return templates;
}

const ConfigTemplate *config_template_find(const char *name) {
        size_t n = strlen(name);

        if (endswith(name, ".json"))
                n -= strlen(".json");

        for (size_t i = 0; i < ELEMENTSOF(templates); i++)
                if (strlen(templates[i].name) == n && strncmp(templates[i].name, name, n) == 0)
                        return &templates[i];
        return NULL;
}

const char *config_template_description(const ConfigTemplate *t, size_t *ret_len) {
        const char *d = startswith(t->text, "// ");

        if (!d) {
                *ret_len = 0;
                return "";
        }
        *ret_len = strcspn(d, "\n");
        return d;
}
