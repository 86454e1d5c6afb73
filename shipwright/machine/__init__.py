"""What the local default runs on this machine: the Docker engine (:mod:`.dockerd`), a
registry on loopback (:mod:`.registry`), base images built from the machine's own files
(:mod:`.rootfs`), and the process helpers they share (:mod:`.process`)."""
