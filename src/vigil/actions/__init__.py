"""What leaves the building: clearinghouse reports, takedown notices, blocklists, exchange sharing.

Every action here starts from a human decision recorded by `vigil.review`.
"""
