"""The NG911 SIP intake: emergency INVITEs (NENA i3) over UDP offered as calls.

- `server.sip.message`: SIP messages parsed and built (RFC 3261), by hand (docs/architecture.md
  says why);
- `server.sip.sdp`: the SDP read and answered (voice is not carried: every stream inactive);
- `server.sip.offer`: an INVITE -> the ``call.offer`` arguments (caller, location, class of
  service);
- `server.sip.dialogs`: the user-agent server's calls, transactions and timers, sans I/O;
- `server.sip.replies`: its dialog headers, its BYE, the Via stamp of what it receives;
- `server.sip.intake`: `SipIntake`, the asyncio UDP endpoint and the bridge to the processor.
"""

from server.sip.intake import MAX_DATAGRAM, SipIntake

__all__ = ["MAX_DATAGRAM", "SipIntake"]
