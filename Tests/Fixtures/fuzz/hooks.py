"""schemathesis hooks for FuzzTests: never stop the recording the test watches.

The recording named in AUDIOCAP_FUZZ_KEEP is the daemon's continuous recording whose audio the test checks
bit for bit after the run; stopping it through the API is legitimate but would end what is being checked.
Schemathesis applies these hooks to the data it generates (coverage and fuzzing phases); its stateful
phase, which runs last, may still stop the recording with a name it read from a response.
"""

import os

import schemathesis

KEEP = os.environ.get("AUDIOCAP_FUZZ_KEEP", "")


@schemathesis.hook
def filter_path_parameters(context, path_parameters):
    return not KEEP or (path_parameters or {}).get("name") != KEEP
