"""The chat channel: conversations (``models.py``), the processor that turns a chat line's
raw record into a timeline message (``processor.py``), and the lines the portal widget and
agents write (``conversations.py``). The portal's pages and the agents' chat window call it.
"""
