#!/bin/sh
# Runs a command with stderr merged into stdout, then prints "exit=<status>" (for FileCheck).
"$@" 2>&1
echo "exit=$?"
