/*
 * id: random identifiers (session ids, later tokens) from libsodium's
 * CSPRNG. Session ids are typed by people (`attach ID`), so they are short
 * decimal numbers; they are not secrets, since every verb that takes one
 * checks who owns it, but they must not be guessable in sequence.
 */
#ifndef SSHGATE_ID_H
#define SSHGATE_ID_H

#define ID_MIN	1000000000LL	/* ten decimal digits, never a leading 0 */
#define ID_MAX	9999999999LL

/* A uniformly random id in [ID_MIN, ID_MAX]; -1 if libsodium cannot start. */
long long id_new(void);

#endif
