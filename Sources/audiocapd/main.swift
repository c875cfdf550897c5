print("audiocapd: being written")
