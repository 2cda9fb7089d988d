"""Hand-written hard-negative probes for the semantic cache (data only, no imports).

Each pair is two prompts that look alike but want different answers: the cache stores
the first and is asked the second (and the other way round); any hit is wrong. They were
written for kinds of difference, not tuned to one embedder: antonyms and opposite
actions, numbers, units, named things, directions, negations, and common-noun swaps that
no word list catches (those must fail on the model's score alone).

``SAME`` holds rewrites that want the same answer (a hit is right), to show what the
threshold still lets through.
"""

from __future__ import annotations

# (kind, stored prompt, query)
PROBES: tuple[tuple[str, str, str], ...] = (
    # opposite actions and antonyms
    ("opposite", "How do I enable 2FA on GitHub?", "How do I disable 2FA on GitHub?"),
    ("opposite", "How do I turn off two-factor authentication on GitHub?",
     "How do I enable two-factor authentication on GitHub?"),
    ("opposite", "How to add a user to a group in Linux",
     "How to remove a user from a group in Linux"),
    ("opposite", "How do I start the nginx service?", "How do I stop the nginx service?"),
    ("opposite", "How do I increase the JVM heap size?", "How do I decrease the JVM heap size?"),
    ("opposite", "What should I eat before a marathon?", "What should I eat after a marathon?"),
    ("opposite", "How to install numpy on Windows", "How to uninstall numpy on Windows"),
    ("opposite", "How do I encrypt a file with gpg?", "How do I decrypt a file with gpg?"),
    ("opposite", "What is the fastest sorting algorithm?",
     "What is the slowest sorting algorithm?"),
    ("opposite", "How do I upload a file to S3 with boto3?",
     "How do I download a file from S3 with boto3?"),
    ("opposite", "Why is my laptop battery draining fast?",
     "Why is my laptop battery charging slowly?"),
    ("opposite", "What are the advantages of remote work?",
     "What are the disadvantages of remote work?"),
    # numbers
    ("number", "What are the top 5 Python web frameworks?",
     "What are the top 10 Python web frameworks?"),
    ("number", "How do I print in Python 2?", "How do I print in Python 3?"),
    ("number", "List five prime numbers", "List six prime numbers"),
    ("number", "What happened in 1969?", "What happened in 1996?"),
    ("number", "Write a 500 word essay on climate change",
     "Write a 1000 word essay on climate change"),
    ("number", "What is 15% of 80?", "What is 18% of 80?"),
    # units and currencies
    ("unit", "How far is 10 km?", "How far is 10 miles?"),
    ("unit", "Convert 100 dollars to euros", "Convert 100 pounds to euros"),
    ("unit", "Is 30 degrees Celsius hot?", "Is 30 degrees Fahrenheit hot?"),
    ("unit", "How many MB are in a GB?", "How many KB are in a GB?"),
    # named things
    ("entity", "What is the capital of France?", "What is the capital of Spain?"),
    ("entity", "How do I install Docker on Ubuntu?", "How do I install Docker on Windows?"),
    ("entity", "How do I read a file in Rust?", "How do I read a file in Go?"),
    ("entity", "What are the side effects of ibuprofen?", "What are the side effects of aspirin?"),
    ("entity", "Who was the first president of Brazil?",
     "Who was the first president of Argentina?"),
    ("entity", "Explain closures with an example in JavaScript",
     "Explain closures with an example in Python"),
    ("entity", "Convert this JSON to YAML", "Convert this JSON to XML"),
    # directions and roles
    ("direction", "Convert Celsius to Fahrenheit", "Convert Fahrenheit to Celsius"),
    ("direction", "Is Python faster than Java?", "Is Java faster than Python?"),
    ("direction", "Translate this sentence from English to French",
     "Translate this sentence from French to English"),
    ("direction", "How do I migrate from MySQL to PostgreSQL?",
     "How do I migrate from PostgreSQL to MySQL?"),
    # negations
    ("negation", "Why is my build slow?", "Why isn't my build slow?"),
    ("negation", "Which cities never get snow?", "Which cities get snow?"),
    ("negation", "How to bake bread without yeast", "How to bake bread with yeast"),
    ("negation", "Foods that are not safe for dogs", "Foods that are safe for dogs"),
    # common-noun and verb swaps: no word list knows these
    ("swap", "How do I reverse a list in Python?", "How do I sort a list in Python?"),
    ("swap", "How do I center a div in CSS?", "How do I hide a div in CSS?"),
    ("swap", "What is the time complexity of quicksort?",
     "What is the time complexity of mergesort?"),
    ("swap", "What does git rebase do?", "What does git merge do?"),
    ("swap", "How do I create a virtual environment in Python?",
     "How do I activate a virtual environment in Python?"),
    ("swap", "What is the boiling point of water?", "What is the freezing point of water?"),
    ("swap", "How do I rename a branch in git?", "How do I delete a branch in git?"),
    ("swap", "What is the difference between a list and a tuple?",
     "What is the difference between a list and a set?"),
    ("swap", "How do I make a cake without eggs?", "How do I make a cake without butter?"),
    ("swap", "Write a short bedtime story about a brave little rabbit who gets lost in the "
     "forest", "Write a short bedtime story about a brave little turtle who gets lost in the "
     "forest"),
    ("swap", "Explain the difference between processes and threads with an example in C",
     "Explain the difference between processes and threads with an example in Java"),
)

# (stored prompt, query): rewrites that want the same answer
SAME: tuple[tuple[str, str], ...] = (
    ("How do I enable 2FA on GitHub?", "how can I turn on 2fa for github"),
    ("What is the capital of France?", "what's the capital of france"),
    ("How do I reverse a list in Python?", "Reversing a list in python"),
    ("What are the top 5 Python web frameworks?", "Which are the five best Python web frameworks?"),
    ("How do I install Docker on Ubuntu?", "installing docker on ubuntu, please"),
    ("Why is my build slow?", "Why does my build take so long?"),
    ("Convert Celsius to Fahrenheit", "How do I convert Celsius into Fahrenheit?"),
    ("What is the boiling point of water?", "At what temperature does water boil?"),
    ("How do I rename a branch in git?", "How can I rename a git branch?"),
    ("What are the side effects of ibuprofen?", "What side effects does ibuprofen have?"),
)
