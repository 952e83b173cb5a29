/* Task files: one task of a bank on its own, what a server adds without a
 * restart (README.md, "Task files").
 *
 * Safetensors; the task's tensors under its model names less the
 * "task.NAME." prefix (stem.bn.weight, stage0.logits, stage0.bn.running_var,
 * ..., head.weight, head.bias), and metadata:
 *   format        "templar-task-1"
 *   task          its name;  classes: its class count
 *   class_names   a JSON array of strings (absent when unnamed)
 *   bank          16 hex digits identifying the bank it runs over: a hash
 *                 of the architecture and of every shared tensor's name,
 *                 shape and bytes (tpl_bank_id)
 *   architecture  that architecture, in words (for messages)
 * A file is refused unless its bank is the model's, each tensor has the
 * shape the model gives it and every value is finite. */
#ifndef TPL_TASKFILE_H
#define TPL_TASKFILE_H
#include "model.h"

#define TPL_TASKFILE_FORMAT "templar-task-1"

/* One task as read from a file (the trunk raw: binding.h). */
typedef struct tpl_task_file {
    char name[TPL_NAME_LEN];
    int classes;
    float *trunk;          /* tpl_trunk_floats(bank), in tpl_trunk_views order */
    float *head_w, *head_b; /* [classes][last width], [classes] */
    char **class_names;    /* [classes], or NULL */
} tpl_task_file;

/* 1 if name is 1-31 letters, digits, '_' or '-' (a model's task names). */
int tpl_task_name_valid(const char *name);
/* The bank's identity (16 hex digits and a NUL) and its architecture in words. */
void tpl_bank_id(const tpl_model *m, char id[17]);
void tpl_bank_architecture(const tpl_model *m, char *out, size_t cap);
/* Writes task t of m to path, atomically. */
int tpl_taskfile_write(const tpl_model *m, int t, const char *path, tpl_err *err);
/* Reads a task file for bank, whose id is bank_id; on failure err says
 * why in one line, naming path, and *out is zeroed. */
int tpl_taskfile_read(const char *path, const tpl_model *bank, const char *bank_id,
                      tpl_task_file *out, tpl_err *err);
void tpl_task_file_free(tpl_task_file *f);
#endif
