print("audiocap-bench: not written yet")
