"""What a lower layer announces and a higher one acts on (blinker, as Flask ships it).

A domain sends; the domain that must react connects its receiver in its own `init_app`, so that nothing
depends on which module happened to be imported. Each signal says who sends it and who listens.
"""

from blinker import Namespace

_signals = Namespace()

series_invitations_due = _signals.signal("series-invitations-due", doc="""
Sent by scheduling when a series' invitation must go (again) to its contacts: created with invitees, changed in a
way calendars must learn of, or new invitees added. Sender: the series; `contacts`: the contacts to write to, or
None for every invited contact. calendar sends the METHOD:REQUEST mail.""")

occurrence_changed = _signals.signal("occurrence-changed", doc="""
Sent by scheduling when one occurrence of a series was moved, cancelled or restored, by a person or by a day
off (then from the worker). Sender: the series; `occurrence`: the date the rule gave it. calendar sends the
update (REQUEST with RECURRENCE-ID, or CANCEL).""")

unit_deleting = _signals.signal("unit-deleting", doc="""
Sent by org before a unit is deleted. Sender: the unit. Each domain that keeps rows under units answers with
what still lies under it (a label to show), or None; any answer refuses the deletion.""")

unit_deleted = _signals.signal("unit-deleted", doc="""
Sent by org once a unit is deleted (in the same transaction). Sender: the unit's id. calendar closes its feed.""")

invitations_ended = _signals.signal("invitations-ended", doc="""
Sent by scheduling when businesses' invitations to a series end. Sender: the series; `business_ids`: those
businesses. calendar ends what they held through the invitation (their own key to the series' feed).""")

# -- Issue 14: everything that concerns a business reaches it; every person hears of what concerns them --------

businesses_invited = _signals.signal("businesses-invited", doc="""
Sent by scheduling or attendance when businesses are newly invited. Sender: the series or the one meeting;
`business_ids`: the businesses. calendar mails the REQUEST to their contacts; notifications tell their users.""")

businesses_uninvited = _signals.signal("businesses-uninvited", doc="""
Sent when businesses' invitations to one meeting end (a series' end is invitations_ended). Sender: the meeting;
`business_ids`. calendar mails the CANCEL.""")

meeting_changed = _signals.signal("meeting-changed", doc="""
Sent once the invited must hear of a change to a meeting or a series (moved, cancelled, restored, edited, holiday
policy, a new day off). Sender: the series or the meeting; `occurrence`: the date for one occurrence, else None;
`cancelled`: True when it no longer takes place. notifications tell the invited businesses' users.""")

answer_recorded = _signals.signal("answer-recorded", doc="""
Sent by attendance when an invited contact answered (portal, link or calendar). Sender: the Rsvp; `answered_by`: the
name of the business's account that answered for the company, or "" (the contact answered). notifications tell the
meeting's organisers.""")

issue_event = _signals.signal("issue-event", doc="""
Sent by issues when something happened to an issue that people must hear of. Sender: the issue; `event`: one of
raised (a business recorded it itself, or anyone a complaint about an officer's conduct), assigned, escalated,
answered, rated, overdue, message (staff said something to the business on a step that is not the answer); `actor`:
the user who did it, or None (the clock).""")


minutes_sent = _signals.signal("minutes-sent", doc="""
Sent by minutes when final minutes are sent to the invited businesses. Sender: the minutes.""")

rights_changed = _signals.signal("rights-changed", doc="""
Sent by auth when an account's role, unit or company changed (in the same transaction). Sender: the user.
notifications takes away what it had told them of and they may no longer open.""")

topic_restricted = _signals.signal("topic-restricted", doc="""
Sent by issues when a topic becomes sensitive (its issues now only managers open). Sender: the topic.
notifications takes away what it had told others of those issues.""")
