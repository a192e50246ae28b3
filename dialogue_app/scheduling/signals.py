"""What scheduling announces to the layers above it (they connect in their init_app)."""

from flask.signals import Namespace

_signals = Namespace()

# Sent with the series and `business_ids`, the businesses whose invitation to it just ended: whatever they
# held through the invitation (their key to the series' feed) ends with it.
invitations_ended = _signals.signal("invitations-ended")
