#!/bin/busybox sh
echo "$GREETING from $(/bin/busybox hostname) (@BUILT@)"
