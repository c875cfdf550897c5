print("audiocap")
