"""
The bucket's POST endpoint, emulated over ``MEDIA_ROOT`` for filesystem mode:
``policy`` signs the forms that ``LocalUploadBackend.presign_post`` hands
out and checks a posted one as S3 checks it; ``views`` receives the file.
"""
