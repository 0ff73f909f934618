"""Ports of the security review's and the fuzzing run's reproducers.

One module per script of /work/shared/notes (security-review-poc/ and
fuzz-reproducers/, written against main at 8faf8a4): each builds the same
hostile input against today's layout, prints what it observed, and exits
non-zero when the old behaviour shows.  `python -m tests.reproducers` runs
them all; README.md says what each one shows.
"""

# Engine-level reproducers (no Mailman), then the end-to-end ones, which
# share one World (a real Mailman, its DNS server and an SMTP sink).
ENGINE = (
    'poc_trustzone', 'poc_temperror', 'poc_barecr', 'poc_loginject',
    'poc_dnsmem', 'poc_redos', 'poc_redos2', 'poc_redos_arc',
    'poc_redos_e2e', 'f1_at_sign_verdict_lost', 'f2_two_from_headers',
    'f3_received_spf_quadratic', 'f5_leading_continuation_arc',
    'f7_dkim_flood', 'f8_huge_from',
)
END_TO_END = ('poc_e2e', 'poc_replay', 'poc_summary', 'poc_redos_lmtp')
