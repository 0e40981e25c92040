#!/bin/sh
# The hostile release command: replace the checkout's data directory with a
# symlink to $PLANT_TARGET (the host's / or another app's directory), so
# that the app service's bind of ../data, resolved again by Docker when
# its container starts, would show that instead. It reports what happened
# and never fails: the test judges the outcome on the host.
# (When the release container binds data itself, data is a mount point
# there and cannot be moved: EBUSY.)
if mv /src/data /src/data.moved 2>/dev/null && ln -s "$PLANT_TARGET" /src/data 2>/dev/null; then
	echo "planted data -> $PLANT_TARGET"
else
	echo "could not plant data -> $PLANT_TARGET"
fi
# and a directory in the middle of the nested bind's path (conf/etc): it
# is no mount point itself, so even the release container can move it
if mv /src/conf /src/conf.moved 2>/dev/null && ln -s "$PLANT_TARGET" /src/conf 2>/dev/null; then
	echo "planted conf -> $PLANT_TARGET"
else
	echo "could not plant conf -> $PLANT_TARGET"
fi
exit 0
