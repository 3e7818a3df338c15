# nginx in front of sks-db, configured as the SKS operators' guide prescribes (docker/nginx/sks.conf.template:
# default_server, any Host, no access log, 8 MB bodies, Via header, only /pks/ and the web root passed on).
# The image fills the template's ${...} variables from the environment at start (docker-compose.yml sets them).
FROM nginx:1.27-alpine
RUN rm -f /etc/nginx/conf.d/default.conf
COPY docker/nginx/sks.conf.template /etc/nginx/templates/sks.conf.template
EXPOSE 11371
HEALTHCHECK --interval=30s --timeout=5s --retries=3 CMD ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:11371/pks/lookup?op=stats&options=mr"]
