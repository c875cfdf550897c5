print("audiocapd")
