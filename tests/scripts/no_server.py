"""A script that constructs no server."""
import sys

sys.stdout.write("nothing to serve\n")
