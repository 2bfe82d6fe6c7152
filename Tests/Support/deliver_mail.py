#!/usr/bin/env python3
"""Delivers raw messages into a test Maildir the way a mail server would.

Usage: deliver_mail.py MAILDIR FOLDER FILE...   (FOLDER: INBOX or a folder name such as Leads)

Creates the folder when missing and, when run as root, gives the mailbox to `nobody` (the user the test Dovecot
serves it as; see mail_servers.py).
"""
import mailbox
import os
import sys

maildir, folder, files = sys.argv[1], sys.argv[2], sys.argv[3:]
path = maildir if folder.upper() == "INBOX" else os.path.join(maildir, "." + folder)
box = mailbox.Maildir(path, create=True)
for name in files:
    with open(name, "rb") as f:
        box.add(f.read())
if os.getuid() == 0:
    import pwd
    nobody = pwd.getpwnam("nobody")
    for root, dirs, names in os.walk(maildir):
        for n in dirs + names:
            os.chown(os.path.join(root, n), nobody.pw_uid, nobody.pw_gid)
    os.chown(maildir, nobody.pw_uid, nobody.pw_gid)
