# nginx in front of sks-db, configured as the SKS operators' guide prescribes (docker/nginx/sks.conf.template:
# default_server, any Host, no access log, 8 MB bodies, Via header, only /pks/ and the web root passed on).
# The image fills the template's ${...} variables from the environment at start (docker-compose.yml sets them).
FROM nginx:1.27-alpine
COPY docker/nginx/sks.conf.template /etc/nginx/templates/sks.conf.template
COPY docker/nginx/10-sks-tls.sh /docker-entrypoint.d/10-sks-tls.sh
# A cluster (SKS_DB_NODES set): the upstream block of the nodes, with passive health checks (12-sks-upstream.sh).
COPY docker/nginx/12-sks-upstream.sh /docker-entrypoint.d/12-sks-upstream.sh
# openssl makes a self-signed certificate at first start when none is mounted (10-sks-tls.sh).
RUN rm -f /etc/nginx/conf.d/default.conf \
 && chmod 0755 /docker-entrypoint.d/10-sks-tls.sh /docker-entrypoint.d/12-sks-upstream.sh \
 && apk add --no-cache openssl
EXPOSE 11371 11372
HEALTHCHECK --interval=30s --timeout=5s --retries=3 CMD ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:11371/pks/lookup?op=stats&options=mr"]
