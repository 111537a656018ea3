/*
 * Unit tests for lib/keys: parsing .pub lines and sshd's %t/%k, blob
 * validation, and fingerprints as ssh-keygen -lf prints them (the vectors
 * below were made with Debian 12's ssh-keygen; the integration suite also
 * compares against ssh-keygen on fresh keys of every type).
 */
#include "err.h"
#include "keys.h"
#include "test.h"

#define ED_B64 "AAAAC3NzaC1lZDI1NTE5AAAAIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f"
#define ED_FP "SHA256:ZkAslGjFiUHdGf/WUL8rQvkib4PTvQatUV0OUQSncCA"
#define SK_B64 "AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIAABAgMEBQYHCAkKCwwNDg8" \
	"QERITFBUWFxgZGhscHR4fAAAABHNzaDo="
#define SK_FP "SHA256:/p0CbeE3dk2SyW1OXXsThGc12ezDVD8eGw2/vtztDfk"
#define P256_B64 "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBNwCG+m68W929a8r" \
	"MBzQEyicgnwcldPOG0+lKvqCDB0xO7hozhlnvF6hZjGuFkw4eff01P4+G1wQLnGugd7zG/U="
#define P256_FP "SHA256:HKerf7Y5LGLHNaBhm4vdMIrvecqHQlk+XhuqZjCqaZI"
/* An ed25519 blob with one byte too many, and one with a 31-byte key. */
#define ED_TRAIL "AAAAC3NzaC1lZDI1NTE5AAAAIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4fAA=="
#define ED_SHORT "AAAAC3NzaC1lZDI1NTE5AAAAHwABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4="

static int
parse(const char *line, struct pubkey *k)
{
	return key_parse_line(line, strlen(line), k);
}

static void
refused(const char *line, const char *why)
{
	struct pubkey k;

	if (parse(line, &k) != -1 || err_kind() != ERR_USAGE ||
	    strstr(err_msg(), why) == NULL) {
		fprintf(stderr, "line \"%.60s\": got \"%s\", want \"%s\"\n",
		    line, err_msg(), why);
		test_failures++;
	}
	CHECK(k.fp[0] == '\0');		/* nothing half-filled */
}

int
main(void)
{
	struct pubkey k;

	CHECK(parse("ssh-ed25519 " ED_B64 " alice@laptop\n", &k) == 0);
	CHECK_STR(k.type, "ssh-ed25519");
	CHECK_STR(k.fp, ED_FP);
	CHECK_STR(k.comment, "alice@laptop");
	CHECK(k.bits == 256);
	CHECK(parse("ssh-ed25519\t" ED_B64, &k) == 0);
	CHECK_STR(k.comment, "");
	CHECK(parse("ssh-ed25519 " ED_B64 " two words  ", &k) == 0);
	CHECK_STR(k.comment, "two words");
	CHECK(parse("sk-ssh-ed25519@openssh.com " SK_B64 " sk", &k) == 0);
	CHECK_STR(k.fp, SK_FP);
	CHECK(parse("ecdsa-sha2-nistp256 " P256_B64, &k) == 0);
	CHECK_STR(k.fp, P256_FP);
	CHECK(k.bits == 256);

	/* THREATS row 13: options, a second key, CR never pass. */
	refused("command=\"/bin/sh\" ssh-ed25519 " ED_B64, "options");
	refused("restrict ssh-ed25519 " ED_B64, "unsupported key type");
	refused("ssh-ed25519 " ED_B64 "\nssh-ed25519 " ED_B64, "more than one");
	refused("ssh-ed25519 " ED_B64 " a@h ssh-ed25519 " ED_B64 " b@h",
	    "more than one key on the line");
	refused("ssh-ed25519 " ED_B64 " ecdsa-sha2-nistp256 " P256_B64,
	    "more than one key on the line");
	refused("ssh-ed25519 " ED_B64 " x\r", "carriage return");
	refused("ssh-ed25519 " ED_B64 " a\033]0;x\007", "control character");
	refused("ssh-ed25519 " ED_B64 " \xff\xfe", "not valid UTF-8");
	refused("", "no key found");
	refused("ssh-ed25519", "key data missing");
	refused("ssh-rsa " ED_B64, "does not match");
	refused("ssh-ed25519 " ED_TRAIL, "trailing data");
	refused("ssh-ed25519 " ED_SHORT, "malformed Ed25519");
	refused("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAABAgMEBQYHCAkKCwwNDg8QERITFB",
	    "not valid base64");
	refused("ssh-ed25519 " ED_B64 "!", "not valid base64");
	refused("ssh-dss AAAAB3NzaC1kc3M=", "DSA");
	refused("ssh-ed25519-cert-v01@openssh.com " ED_B64, "certificates");

	/* sshd's %t %k. */
	CHECK(key_from_parts("ssh-ed25519", ED_B64, &k) == 0);
	CHECK_STR(k.fp, ED_FP);
	CHECK(key_from_parts("ssh-ed25519", "", &k) == -1);
	CHECK(key_from_parts("", ED_B64, &k) == -1);
	CHECK(key_from_parts("ecdsa-sha2-nistp384", P256_B64, &k) == -1);
	return TEST_DONE();
}
