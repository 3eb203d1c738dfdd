"""Call intake channels: phone and CTI events, AML and PIDF-LO location, text chat, sign-language video, panic apps."""
