/*
 * tool_report.c — the table of output formats (see tool_report.h).
 */
#include "tool_report.h"

#include <string.h>

static const tool_format *const formats[] = {&tool_format_text, &tool_format_json,
                                             &tool_format_sarif};

const tool_format *tool_format_find(const char *name)
{
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (!strcmp(formats[i]->name, name))
            return formats[i];
    return NULL;
}

const char *tool_item_display(const tool_item *it)
{
    return it->kind == TOOL_ITEM_STDIN ? "<stdin>" : it->path;
}
