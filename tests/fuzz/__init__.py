# SPDX-License-Identifier: GPL-3.0-or-later
"""The fuzz tier: Hypothesis properties over hostile messages, DNS answers,
return-path tags and verdicts (README.md beside this file)."""
