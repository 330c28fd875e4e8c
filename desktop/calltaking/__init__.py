"""What the call-taking position computes, Qt-free: the incident a call-taker is writing up
(``draft``) and what is known about its place (``place``: duplicates, prior incidents, premise
hazards). Protocol cards (questioning to a determinant) come here next.
"""
