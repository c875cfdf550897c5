// Talks to audiocapd over its control socket.
