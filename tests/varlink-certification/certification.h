/* certification.h — what the varlink certification sequence exchanges,
 * shared by our certification server and client.
 *
 * Steps: Start (0), Test01 … Test11 (1 … 11), End (12). The input of
 * TestNN is the client_id plus every output member of the step before it;
 * Test10 is called with "more" and answers ten times, Test11 is oneway and
 * carries those ten strings. */
#pragma once

#include <stdbool.h>
#include <yajl/yajl_tree.h>

#define CERT_INTERFACE "org.varlink.certification"
#define CERT_ERROR_CLIENT_ID CERT_INTERFACE ".ClientIdError"
#define CERT_ERROR_CERTIFICATION CERT_INTERFACE ".CertificationError"
#define CERT_STEP_START 0U
#define CERT_STEP_MORE 10U
#define CERT_STEP_ONEWAY 11U
#define CERT_STEP_END 12U
#define CERT_N_MORE 10U

/* The IDL text, embedded at build time. */
extern const char certification_idl[];

/* "Start", "Test01", …, "End". */
const char *cert_step_name(unsigned step);
/* The step of a method name (unqualified), or -1. */
int cert_step_from_name(const char *name);

/* The output parameters of steps 1 … 9 as JSON text (the server sends them,
 * the client expects them); NULL for other steps. */
const char *cert_step_output(unsigned step);
/* The i-th (0-based) of the Test10 replies, as JSON text into buf. */
void cert_more_output(unsigned i, char *buf, size_t size);

/* Deep equality where an object member that is null counts as absent (the
 * IDL's nullable fields may be sent either way), skipping the top-level
 * member `skip` (may be NULL). */
bool cert_json_equal(yajl_val a, yajl_val b, const char *skip);

/* Parses a JSON text the program itself wrote; aborts on failure. */
yajl_val cert_parse(const char *text);
/* Serializes a value into a new string; aborts on OOM. */
char *cert_format(yajl_val v);
